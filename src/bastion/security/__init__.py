"""Security primitives: tokens, password hashing, CSRF, headers. Framework-free except headers."""
