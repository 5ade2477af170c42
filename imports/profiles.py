"""Import profiles: a column mapping saved for a kind and a header, found again by either."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from imports import parsing
from imports.mapping import UserMapping, check_fields
from imports.models import ImportProfile, header_signature


def file_header(path: Path, encoding: str | None = None) -> list[str]:
    chosen = parsing.detect_encoding(path, encoding or None)
    with parsing.CsvSource(path, chosen) as source:
        return source.header


def profile_for_header(*, kind: str, header: list[str]) -> ImportProfile | None:
    """The profile saved for this kind and exactly this header (names compared case-insensitively)."""
    return ImportProfile.objects.filter(kind=kind, signature=header_signature(header)).first()


def profile_named(*, name: str, kind: str) -> ImportProfile:
    profile = ImportProfile.objects.filter(name=name).first()
    if profile is None:
        known = ", ".join(ImportProfile.objects.filter(kind=kind).values_list("name", flat=True)) or "none yet"
        raise parsing.FileRejected(f"No import profile is named {name!r} (profiles for {kind}: {known}).")
    if profile.kind != kind:
        raise parsing.FileRejected(f"The profile {name!r} is for {profile.kind}, not {kind}.")
    return profile


def profile_mapping(profile: ImportProfile) -> UserMapping:
    return UserMapping.from_json(profile.mapping, origin=f"The profile {profile.name!r}")


def profile_save(*, name: str, kind: str, preset: str, header: list[str], mapping: UserMapping,
                 user: User | None) -> ImportProfile:
    """Save `mapping` for this kind and header: the header's profile is updated (and renamed), else
    a new one is made. A name another header's profile already has is refused."""
    name = name.strip()
    if not name:
        raise parsing.FileRejected("A profile needs a name.")
    check_fields(mapping, kind)
    signature = header_signature(header)
    taken = ImportProfile.objects.filter(name=name).exclude(kind=kind, signature=signature).first()
    if taken is not None:
        raise parsing.FileRejected(
            f"The name {name!r} is already the profile of another {taken.kind} layout; choose another name."
        )
    try:
        with transaction.atomic():
            profile, _ = ImportProfile.objects.update_or_create(
                kind=kind, signature=signature,
                defaults={"name": name, "preset": preset, "header": header, "mapping": mapping.to_json(),
                          "created_by": user},
            )
    except IntegrityError as exc:  # a concurrent save of the same name
        raise parsing.FileRejected(f"The profile name {name!r} is taken; choose another name.") from exc
    return profile
