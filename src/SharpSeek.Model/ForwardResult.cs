// ForwardResult.cs: what one Transformer.Forward returns for the objective (DeepSeek-V3 technical report §2.1.2, §2.2):
// the logits, the MTP logits of each depth run, and per MoE layer the routing (scores on the tape, chosen experts,
// loads). A value per forward, not state in the layers, so that forwards (policy, reference, rollout, micro-batches)
// can be alive at once, each on its own tape. The caller keeps one and passes it to every forward it reuses it for:
// after the first, filling it allocates nothing. Not here: the losses (training). Tested by ObjectiveTests and
// TransformerTests.
using SharpSeek.Model.Layers;
using SharpSeek.Tensors.Autograd;

namespace SharpSeek.Model;

/// <summary>The outputs of one forward; its values live on <see cref="Tape"/> until that tape is reset.</summary>
public sealed class ForwardResult
{
    private Var[] _mtp = [];
    private MoeRouting[] _routing = [];
    private int _mtpCount;
    private int _routingCount;
    private Tape? _tape;
    private ModelConfig? _config;

    /// <summary>The tape the forward ran on.</summary>
    public Tape Tape => _tape ?? throw new InvalidOperationException("no forward has written this result yet");

    /// <summary>The config of the model that ran.</summary>
    public ModelConfig Config => _config ?? throw new InvalidOperationException("no forward has written this result yet");

    /// <summary>B: the sequences of the batch.</summary>
    public int Batch { get; private set; }

    /// <summary>T: the tokens of each sequence.</summary>
    public int Tokens { get; private set; }

    /// <summary>(B, T, V).</summary>
    public Var Logits { get; internal set; }

    /// <summary>MTP depth k's logits (B, T − k, V) at [k − 1], for the min(MTP modules, T − 1) depths run.</summary>
    public ReadOnlySpan<Var> MtpLogits => _mtp.AsSpan(0, _mtpCount);

    /// <summary>Every MoE layer's routing in the order run: the trunk's, then the MTP depths'.</summary>
    public ReadOnlySpan<MoeRouting> Routing => _routing.AsSpan(0, _routingCount);

    /// <summary>Starts a new forward over (B, T) tokens, with room for <paramref name="depths"/> MTP depths and
    /// <paramref name="blocks"/> routed blocks at most.</summary>
    internal void Start(Tape tape, ModelConfig config, int b, int t, int depths, int blocks)
    {
        (_tape, _config, Batch, Tokens, Logits, _mtpCount, _routingCount) = (tape, config, b, t, default, 0, 0);
        if (_mtp.Length < depths) { _mtp = new Var[depths]; }
        if (_routing.Length < blocks) { _routing = new MoeRouting[blocks]; }
    }

    internal void AddMtp(Var logits) => _mtp[_mtpCount++] = logits;

    internal void AddRouting(in MoeRouting routing)
    {
        if (routing.IsRouted) { _routing[_routingCount++] = routing; }
    }

    /// <summary>The routing of checkpoint layer <paramref name="layer"/>; throws when that layer routed nothing in this forward.</summary>
    public MoeRouting RoutingOf(int layer)
    {
        foreach (var r in Routing)
        {
            if (r.Layer == layer) { return r; }
        }
        throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} routed nothing in this forward (routed: {_routingCount} MoE layers)");
    }
}
