"""HTTP edge: JSON API, health, pages."""
