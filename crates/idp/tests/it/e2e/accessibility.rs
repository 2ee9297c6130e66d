//! Accessibility of every page: axe-core, no JavaScript, 320 px, 200 % zoom, the keyboard.
