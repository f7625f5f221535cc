using Kezekshi.Edge.Biometrics.Consent;
using Kezekshi.Edge.Biometrics.Index;

namespace Kezekshi.Edge.Biometrics.Storage;

/// <summary>What receiving one sealed template did.</summary>
/// <param name="TemplateId">The local id of the stored template (also when it was held already).</param>
/// <param name="AlreadyHeld">The same source template was received before: nothing was stored again.</param>
public sealed record TemplateReceipt(long TemplateId, long PupilId, bool AlreadyHeld);

/// <summary>
/// Moving a pupil's templates from one school to another through the centre without the centre being able to read them
/// (docs/sync-protocol.md §5.3): the source seals each template for the target school's public key; the target opens it
/// with its private key, re-encrypts it under its own at-rest key and puts it in the index, only under its own consent.
/// </summary>
/// <remarks>
/// Consent follows the pupil record, not the template: the source exports only while its own consent covers Access, and
/// the target stores a template only while a consent recorded there covers Access. A later revocation at the target
/// deletes received templates like enrolled ones (they are ordinary rows of the store).
/// </remarks>
public sealed class TemplateTransfer(TemplateStore store, EmbeddingIndex index, ConsentService consents, SchoolKeyPair keys, string school)
{
    /// <summary>This school's transfer key pair (its public half goes to the centre in hello).</summary>
    public SchoolKeyPair Keys { get; } = keys;

    /// <summary>The school ID this store belongs to (the target a template must be sealed for).</summary>
    public string School { get; } = school;

    /// <summary>
    /// Seals every template of <paramref name="pupilId"/> for <paramref name="targetSchool"/>. Refused with reason
    /// <c>no-consent</c> when this school's consent for the pupil no longer covers Access. The read is audited.
    /// </summary>
    public IReadOnlyList<SealedTemplate> Export(long pupilId, string targetSchool, byte[] targetPublicKey, string actor)
    {
        ArgumentNullException.ThrowIfNull(targetPublicKey);
        if (targetSchool == School)
            throw new TemplateSealException("wrong-school", $"a transfer of pupil {pupilId} to {targetSchool} names this school itself as the target");
        if ((consents.EffectiveMask(pupilId) & BiometricPurpose.Access) == 0)
            throw new TemplateSealException("no-consent", $"pupil {pupilId} has no consent covering access at {School} (or an objection): their templates are not sent anywhere");
        var templates = store.ReadPupil(pupilId, actor, $"transfer to school {targetSchool}");
        var sealedTemplates = new List<SealedTemplate>(templates.Count);
        foreach (var t in templates)
        {
            string id = $"{School}.t{t.TemplateId}";
            sealedTemplates.Add(TemplateSeal.Seal(t.Vector, targetPublicKey, School, targetSchool, pupilId, ModalityName(t.Modality), t.ModelId, 1f, id));
        }
        return sealedTemplates;
    }

    /// <summary>
    /// Opens a template sealed for this school and stores it under this school's key, then adds it to the index with the
    /// pupil's purposes here. Throws <see cref="TemplateSealException"/> (wrong school or key, tampered, malformed, or
    /// <c>no-consent</c> when no consent recorded here covers Access) — nothing is stored then.
    /// </summary>
    public TemplateReceipt Receive(SealedTemplate sealedTemplate, string actor)
    {
        ArgumentNullException.ThrowIfNull(sealedTemplate);
        var modality = ParseModality(sealedTemplate.Modality);
        if (store.FindTransferred(sealedTemplate.TemplateId) is { } held)
            return new TemplateReceipt(held.TemplateId, held.PupilId, true);
        var vector = TemplateSeal.Open(Keys, School, sealedTemplate);
        long pupil = sealedTemplate.PupilId;
        if ((consents.EffectiveMask(pupil) & BiometricPurpose.Access) == 0)
            throw new TemplateSealException("no-consent",
                $"pupil {pupil} has no consent covering access recorded at {School} (or an objection): the template from {sealedTemplate.SourceSchool} was not stored. Record the guardian's consent here, then request the transfer again");
        var saved = store.SaveTransferred(new NewTemplate(pupil, modality, sealedTemplate.Model, vector, sealedTemplate.Quality), sealedTemplate.TemplateId,
            sealedTemplate.SourceSchool, actor);
        if (saved is null)
            return new TemplateReceipt(store.FindTransferred(sealedTemplate.TemplateId)?.TemplateId ?? 0, pupil, true);
        var pairs = index.Add([saved]);
        if (pairs.Count > 0) store.SaveLookAlikes(pairs, saved.ModelId);
        var mask = consents.EffectiveMask(pupil);
        index.SetPurposes(pupil, mask);
        // A revocation that ran while this template was being stored deleted the rows already; the copy in memory goes too.
        if ((mask & BiometricPurpose.Access) == 0) index.RemovePupil(pupil);
        return new TemplateReceipt(saved.TemplateId, pupil, false);
    }

    /// <summary>Deletes a received template by its source id (<c>template.delete</c>), with a deletion receipt; false when not held.</summary>
    public bool Delete(string sourceTemplateId, string reason, string actor)
    {
        if (store.FindTransferred(sourceTemplateId) is not { } held) return false;
        index.RemoveTemplates(new HashSet<long> { held.TemplateId });
        using var connection = store.Database.Connect();
        using var transaction = connection.BeginTransaction(deferred: false);
        store.Delete(connection, transaction, held.PupilId, [held.TemplateId], reason, actor);
        transaction.Commit();
        return true;
    }

    private static string ModalityName(BiometricModality modality) => modality == BiometricModality.Palm ? "palm" : "face";

    private static BiometricModality ParseModality(string modality) => modality switch
    {
        "face" => BiometricModality.Face,
        "palm" => BiometricModality.Palm,
        _ => throw new TemplateSealException("malformed", $"modality \"{modality}\" is not face or palm"),
    };
}
