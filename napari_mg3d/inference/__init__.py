"""Inference: encode, zero-shot findings, retrieval, attention maps, segmentation (no Qt)."""
