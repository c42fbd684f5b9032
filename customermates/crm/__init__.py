"""The CRM core: entity metadata (`model`), record DTOs (`records`), writes (`writes`), queries (`queries`)."""
