"""napari dock widgets: thin views over the layers below, heavy work in background workers."""
