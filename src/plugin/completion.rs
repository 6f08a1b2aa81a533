//! `kubectl checklist completion SHELL`: the shell completion scripts.

use clap::CommandFactory;

use super::Cli;

/// The completion script of `shell` for the `kubectl-checklist` executable.
pub(super) fn completion(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubectl-checklist", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    // clap_complete 4.6 spells bash's per-subcommand states two ways when the name holds a '-'
    // (`kubectl__checklist__subcmd__x` where it walks the words, `kubectl__subcmd__checklist__
    // subcmd__x` where it completes), so no subcommand's flags would complete: one spelling.
    match shell {
        clap_complete::Shell::Bash => {
            script.replace("kubectl__subcmd__checklist", "kubectl__checklist")
        }
        _ => script,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bash_completes_every_subcommand_and_its_flags() {
        let script = completion(clap_complete::Shell::Bash);
        assert!(script.contains("complete -F _kubectl__checklist"));
        for state in ["rollback", "status", "set__subcmd__image"] {
            let name = format!("kubectl__checklist__subcmd__{state}");
            assert!(
                script.contains(&format!("cmd=\"{name}\"")),
                "{state}: never entered"
            );
            assert!(
                script.contains(&format!("        {name})")),
                "{state}: never completed"
            );
        }
        assert!(!script.contains("kubectl__subcmd__checklist"));
    }
}
