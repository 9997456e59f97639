"""Data files shipped with the domain core (Guangdong's region table)."""
