"""Bring-your-own-model groundwork: a real MLflow-served classifier and its wire formats."""
