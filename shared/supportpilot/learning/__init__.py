"""Continuous learning under human oversight: verified labels, their quality check, retraining and model versions."""
