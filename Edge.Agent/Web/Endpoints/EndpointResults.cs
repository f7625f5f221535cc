using Kezekshi.Edge.Agent.Ledgers;
using Kezekshi.Edge.Agent.Web.Security;
using Microsoft.AspNetCore.Http;

namespace Kezekshi.Edge.Agent.Web.Endpoints;

/// <summary>One translation of ledger refusals and bad input into answers the page shows as they are.</summary>
internal static class EndpointResults
{
    /// <summary>Runs a ledger operation; a refusal (<see cref="LedgerException"/>) is 409, bad input (<see cref="ArgumentException"/>) 400, both with the ledger's message.</summary>
    public static IResult Guarded(Func<IResult> action)
    {
        try
        {
            return action();
        }
        catch (ArgumentException e)
        {
            return Problem(e.Message.Split(" (Parameter", 2)[0], "bad-request");
        }
        catch (LedgerException e)
        {
            return Problem(e.Message, "refused", StatusCodes.Status409Conflict);
        }
    }

    public static IResult Problem(string message, string code, int status = StatusCodes.Status400BadRequest) =>
        Results.Json(new ApiError(message, code), WebJsonContext.Default.ApiError, statusCode: status);
}
