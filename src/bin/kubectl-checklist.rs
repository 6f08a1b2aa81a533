//! `kubectl-checklist`: found by kubectl on PATH as the `kubectl checklist` plugin.

fn main() -> std::process::ExitCode {
    checklist_operator::plugin::main()
}
