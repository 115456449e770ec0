"""Auditor tools: readable records and nonconformities (:mod:`.show`, :mod:`.html`), seeded samples,
self-verifying export bundles and OSCAL. Everything here reads the store through the verified readers:
a record whose signature does not verify is reported, never described as evidence."""
