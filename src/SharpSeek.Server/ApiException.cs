// ApiException.cs: an error a request earns, with its HTTP status and the fields of OpenAI's error envelope
// {"error": {"message", "type", "param", "code"}}. Not here: writing it (SharpSeekServer.cs). Tested by ServerRawTests and ServerSdkTests.
namespace SharpSeek.Server;

internal sealed class ApiException(int status, string type, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    public static ApiException BadRequest(string message, string? param = null, string? code = null) =>
        new(400, "invalid_request_error", message, param, code);

    public static ApiException NotFound(string message, string? param = null, string? code = null) =>
        new(404, "not_found_error", message, param, code);
}
