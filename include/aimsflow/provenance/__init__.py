"""Provenance and chain of custody from the signed records (A.7.3, A.7.5, A.7.6, A.6.2.8)."""
