using System.Text.Json.Serialization;
using Kezekshi.Server.Sync.Domain;

namespace Kezekshi.Server.Sync.Api;

/// <summary>JSON metadata of every request and answer of the centre API (System.Text.Json source generation, camelCase).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, MaxDepth = 16)]
[JsonSerializable(typeof(SchoolRequest))]
[JsonSerializable(typeof(ClassRequest))]
[JsonSerializable(typeof(PupilRequest))]
[JsonSerializable(typeof(GuardianRequest))]
[JsonSerializable(typeof(GuardianLinkRequest))]
[JsonSerializable(typeof(CardRequest))]
[JsonSerializable(typeof(CardBlockRequest))]
[JsonSerializable(typeof(ConsentRequest))]
[JsonSerializable(typeof(ConsentEndRequest))]
[JsonSerializable(typeof(TemplateRequest))]
[JsonSerializable(typeof(TopupRequest))]
[JsonSerializable(typeof(LimitRequest))]
[JsonSerializable(typeof(AnnouncementRequest))]
[JsonSerializable(typeof(HolidayRequest))]
[JsonSerializable(typeof(SchoolView))]
[JsonSerializable(typeof(List<SchoolView>))]
[JsonSerializable(typeof(ClassView))]
[JsonSerializable(typeof(List<ClassView>))]
[JsonSerializable(typeof(PupilView))]
[JsonSerializable(typeof(GuardianView))]
[JsonSerializable(typeof(GuardianLinkView))]
[JsonSerializable(typeof(CardView))]
[JsonSerializable(typeof(ConsentView))]
[JsonSerializable(typeof(List<ConsentView>))]
[JsonSerializable(typeof(List<PlacementView>))]
[JsonSerializable(typeof(TopupView))]
[JsonSerializable(typeof(BalanceView))]
[JsonSerializable(typeof(List<PassageView>))]
[JsonSerializable(typeof(List<PurchaseView>))]
[JsonSerializable(typeof(List<DashboardRow>))]
[JsonSerializable(typeof(ChangeReceipt))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;
