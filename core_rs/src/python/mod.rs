//! Python bindings (multimargin._core).
