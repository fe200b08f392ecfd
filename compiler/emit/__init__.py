"""Emit targets: RAM policy JSON (``ram``) and Cedar (``cedar``)."""
