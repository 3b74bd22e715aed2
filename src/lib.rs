//! The jetsim playground (Yew). Being written.
