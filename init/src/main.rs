//! berth-init: a tiny PID 1 that reaps zombies and forwards signals (filled in by a later issue).

fn main() {
    eprintln!("berth-init: not implemented yet");
    std::process::exit(1);
}
