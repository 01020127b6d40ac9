"""The tenant's branding: theme, colours, texts per language, logo and favicon, domains."""
