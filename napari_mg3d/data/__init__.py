"""Preprocessing profiles, datasets and the synthetic case generator."""
