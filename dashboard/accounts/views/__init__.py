"""The accounts' pages, one module for each thing they show."""
