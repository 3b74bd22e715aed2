//! Keyboard shortcuts of the playground: which key does what, decided by a
//! pure function (unit-tested natively), and the `keydown` listener that
//! sends the component's messages.

/// What a shortcut does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    TogglePlay,
    Step,
    StepBack,
    Faster,
    Slower,
    Start,
    Fork,
    Presenter,
    Help,
    Close,
}

/// Where the key was pressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A text field, select, range or anything editable: keys are its own.
    Field,
    /// A button or link: Space and Enter activate it, as usual.
    Button,
    Other,
}

/// The shortcuts, as the help lists them: (keys, what).
pub const HELP: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    ("→", "step: run the next event"),
    ("←", "step back: undo the last event"),
    ("+  −", "faster / slower"),
    ("Home", "back to the start"),
    ("F", "fork from here (drop the recorded future)"),
    ("P", "presenter mode (bigger controls)"),
    ("?", "show / hide this help"),
];

/// The shortcut for `key` (a `KeyboardEvent.key`) pressed on `target`, if
/// any. Keys with Ctrl, Alt or Meta are never shortcuts (the caller checks).
pub fn shortcut(key: &str, target: Target) -> Option<Key> {
    if target == Target::Field {
        return None;
    }
    let k = match key {
        " " | "Spacebar" if target == Target::Button => return None,
        " " | "Spacebar" => Key::TogglePlay,
        "ArrowRight" => Key::Step,
        "ArrowLeft" => Key::StepBack,
        "+" | "=" => Key::Faster,
        "-" | "_" => Key::Slower,
        "Home" => Key::Start,
        "f" | "F" => Key::Fork,
        "p" | "P" => Key::Presenter,
        "?" => Key::Help,
        "Escape" => Key::Close,
        _ => return None,
    };
    Some(k)
}

/// Listen for shortcuts on the document; `send` gets each one.
#[cfg(target_arch = "wasm32")]
pub fn listen(send: impl Fn(Key) + 'static) -> gloo::events::EventListener {
    use wasm_bindgen::JsCast;
    let options = gloo::events::EventListenerOptions::enable_prevent_default();
    gloo::events::EventListener::new_with_options(&gloo::utils::document(), "keydown", options, move |e| {
        let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else {
            return;
        };
        if e.ctrl_key() || e.alt_key() || e.meta_key() || e.repeat() && e.key() == " " {
            return;
        }
        let target = match e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) {
            Some(el) => {
                let tag = el.tag_name().to_ascii_lowercase();
                let editable = el.get_attribute("contenteditable").is_some_and(|v| v != "false");
                match tag.as_str() {
                    "input" | "textarea" | "select" => Target::Field,
                    _ if editable => Target::Field,
                    "button" | "a" | "summary" => Target::Button,
                    _ => Target::Other,
                }
            }
            None => Target::Other,
        };
        if let Some(k) = shortcut(&e.key(), target) {
            e.prevent_default();
            send(k);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_actions() {
        assert_eq!(shortcut(" ", Target::Other), Some(Key::TogglePlay));
        assert_eq!(shortcut("ArrowRight", Target::Other), Some(Key::Step));
        assert_eq!(shortcut("ArrowLeft", Target::Button), Some(Key::StepBack));
        assert_eq!(shortcut("+", Target::Other), Some(Key::Faster));
        assert_eq!(shortcut("=", Target::Other), Some(Key::Faster));
        assert_eq!(shortcut("-", Target::Other), Some(Key::Slower));
        assert_eq!(shortcut("Home", Target::Other), Some(Key::Start));
        assert_eq!(shortcut("?", Target::Other), Some(Key::Help));
        assert_eq!(shortcut("x", Target::Other), None);
        assert_eq!(shortcut("Enter", Target::Other), None);
    }

    #[test]
    fn typing_is_never_a_shortcut() {
        for k in [" ", "ArrowRight", "ArrowLeft", "+", "-", "Home", "f", "p", "?", "Escape"] {
            assert_eq!(shortcut(k, Target::Field), None, "{k:?}");
        }
        // Space on a focused button presses that button, not play.
        assert_eq!(shortcut(" ", Target::Button), None);
    }
}
