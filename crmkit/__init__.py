"""Infrastructure shared by every app of the CRM: no domain code lives here."""
