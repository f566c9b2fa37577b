"""Adapters: where drp writes outside its database (output paths it may and may not write)."""
