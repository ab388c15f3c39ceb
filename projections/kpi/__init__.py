"""Key performance indicators: pure folds from conversation and agent facts to figures
per scope and interval (DESIGN.md §8; formulas in README.md beside this package)."""
