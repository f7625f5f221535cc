using System.Text.Json;
using System.Text.Json.Serialization;
using Kezekshi.Edge.Agent.Web.Board;
using Kezekshi.Edge.Agent.Web.Console;
using Kezekshi.Edge.Agent.Web.Endpoints;
using Kezekshi.Edge.Agent.Web.Live;
using Kezekshi.Edge.Agent.Web.Security;

namespace Kezekshi.Edge.Agent.Web;

/// <summary>Source-generated JSON for everything the web UI sends and receives (camelCase, as browsers expect).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(PasswordChangeRequest))]
[JsonSerializable(typeof(MeResponse))]
[JsonSerializable(typeof(BoardSnapshot))]
[JsonSerializable(typeof(ItStatus))]
[JsonSerializable(typeof(GateLogEntry))]
[JsonSerializable(typeof(List<GateLogEntry>))]
[JsonSerializable(typeof(TillState))]
[JsonSerializable(typeof(TillShiftView))]
[JsonSerializable(typeof(TillPupil))]
[JsonSerializable(typeof(OpenShiftRequest))]
[JsonSerializable(typeof(CloseShiftRequest))]
[JsonSerializable(typeof(TillChargeRequest))]
[JsonSerializable(typeof(TillChargeResult))]
[JsonSerializable(typeof(TillRefundRequest))]
[JsonSerializable(typeof(TillRefundResult))]
[JsonSerializable(typeof(Kezekshi.Edge.Agent.Ledgers.Canteen.ZReport))]
[JsonSerializable(typeof(DeskPupil))]
[JsonSerializable(typeof(DeskBookRequest))]
[JsonSerializable(typeof(DeskBookResult))]
[JsonSerializable(typeof(List<Kezekshi.Edge.Agent.Ledgers.Library.OverdueLoan>))]
[JsonSerializable(typeof(List<OfficeClass>))]
[JsonSerializable(typeof(List<Kezekshi.Edge.Agent.Ledgers.Tableau.UneatenMeal>))]
[JsonSerializable(typeof(Kezekshi.Edge.Agent.Ledgers.Tableau.RollCallSheet))]
[JsonSerializable(typeof(RollCallTick))]
[JsonSerializable(typeof(TillFaceResult))]
[JsonSerializable(typeof(TillFaceConfirmRequest))]
[JsonSerializable(typeof(BioStatus))]
[JsonSerializable(typeof(List<BioPupilMatch>))]
[JsonSerializable(typeof(BioPupilView))]
[JsonSerializable(typeof(BioConsentRequest))]
[JsonSerializable(typeof(BioObjectionRequest))]
[JsonSerializable(typeof(BioRevokeRequest))]
[JsonSerializable(typeof(BioNoteRequest))]
[JsonSerializable(typeof(BioImagesRequest))]
[JsonSerializable(typeof(BioCheckResult))]
[JsonSerializable(typeof(BioCaptureResult))]
[JsonSerializable(typeof(BioEnrolResult))]
[JsonSerializable(typeof(BioTemplatesView))]
[JsonSerializable(typeof(BioDeleteResult))]
internal sealed partial class WebJsonContext : JsonSerializerContext;
