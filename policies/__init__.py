"""The bundled policy packs, shipped as package data (YAML only)."""
