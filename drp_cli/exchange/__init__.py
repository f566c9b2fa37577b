"""Exchange: records in and out (import, re-import, the council's spreadsheet and its map, the
flat tables of an export)."""
