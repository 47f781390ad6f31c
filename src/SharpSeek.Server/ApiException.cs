// ApiException.cs: an error a request earns, with its HTTP status, the fields of OpenAI's error envelope
// {"error": {"message", "type", "param", "code"}} and the response headers it needs (Allow, Retry-After,
// WWW-Authenticate). Not here: writing it (SharpSeekServer.cs). Tested by ServerRawTests and ServerHostileTests.
namespace SharpSeek.Server;

internal sealed class ApiException(int status, string type, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    /// <summary>Headers the error response carries besides the envelope (e.g. Allow with a 405).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public static ApiException BadRequest(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", message, param, code);

    public static ApiException NotFound(string message, string? param = null, string? code = null) =>
        new(404, "not_found_error", message, param, code);

    /// <summary>A parameter this server does not implement yet: refused rather than silently ignored.</summary>
    public static ApiException Unsupported(string message, string param) =>
        new(400, "invalid_request_error", message, param, "unsupported_parameter");
}
