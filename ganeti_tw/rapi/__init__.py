"""ganeti-rapi: the Remote API v2 over HTTPS, a LUXI client of masterd (spec 7, 14)."""
