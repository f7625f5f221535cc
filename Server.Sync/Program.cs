using Kezekshi.Server.Sync.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddCentre();
var app = builder.Build();
app.MapCentre();
await app.RunAsync();
