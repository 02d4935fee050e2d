// Placeholder until the model sources land; delete when adding files.
