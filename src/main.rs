//! `bianmin`: with no arguments the clerk terminal; subcommands for the server and scriptable
//! look-ups.

use std::process::ExitCode;

use clap::Parser;

use bianmin::cli::args::{
    AliasCommand, AppointmentsCommand, Cli, CliCommand, GuidesCommand, ImportCommand, LexiconCommand, TicketCommand,
};
use bianmin::cli::commands::*;
use bianmin::config::Settings;

fn main() -> ExitCode {
    // Before any thread starts (the log writer, the runtime).
    bianmin::client::memory::limit_arenas();
    let cli = Cli::parse();
    let _ = color_eyre::install();
    let env = std::env::vars().collect::<Vec<_>>();
    let mut settings = match Settings::load(cli.config.as_deref(), env) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(server) = cli.server {
        settings.terminal.server = server;
    }
    if cli.desk {
        settings.terminal.desk = true;
    }
    match cli.command {
        Some(CliCommand::Workdays(command)) => workdays(command),
        Some(CliCommand::Guides(GuidesCommand::Unanswered { since, database })) => {
            if let Some(database) = database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| guides_unanswered(settings, since))
        }
        Some(CliCommand::Guides(GuidesCommand::Alias(AliasCommand::Add { code, alias, database }))) => {
            if let Some(database) = database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| guides_alias_add(settings, code, alias))
        }
        Some(CliCommand::Guides(command)) => guides(command, &settings),
        Some(CliCommand::Ticket(TicketCommand::Issue(args))) => {
            run_async(settings, false, move |settings| issue_ticket(settings, args))
        }
        Some(CliCommand::Evaluator(args)) => run_async(settings, false, move |settings| evaluator(settings, args)),
        Some(CliCommand::Kiosk(args)) => run_async(settings, false, move |settings| kiosk(settings, args)),
        Some(CliCommand::Display(args)) => run_async(settings, false, move |settings| display(settings, args)),
        Some(CliCommand::Admin(args)) => {
            if let Some(database) = args.database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| admin(settings, args.command))
        }
        Some(CliCommand::Import(ImportCommand::Lexicon(args))) => {
            if let Some(database) = args.database.clone() {
                settings.server.database = database;
            }
            import_lexicon(settings, args)
        }
        Some(CliCommand::Lexicon(LexiconCommand::Add { word, like, database })) => {
            if let Some(database) = database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| lexicon_add(settings, word, like))
        }
        Some(CliCommand::Import(ImportCommand::Guides(args))) => {
            if let Some(database) = args.database.clone() {
                settings.server.database = database;
            }
            import_guides(settings, args)
        }
        Some(CliCommand::Appointments(AppointmentsCommand::Free { day, category, format, database })) => {
            if let Some(database) = database {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| appointments_free(settings, day, category, format))
        }
        Some(CliCommand::Report(args)) => {
            if let Some(database) = args.database.clone() {
                settings.server.database = database;
            }
            run_async(settings, false, move |settings| report(settings, args))
        }
        Some(CliCommand::Serve(args)) => {
            if let Some(listen) = args.listen {
                settings.server.listen = listen;
            }
            if let Some(database) = args.database {
                settings.server.database = database;
            }
            run_async(settings, true, serve)
        }
        Some(CliCommand::Migrate(args)) => run_async(settings, false, move |_| migrate(args)),
        Some(CliCommand::Board(args)) => {
            if let Some(server) = args.server {
                settings.terminal.server = server;
            }
            settings.terminal.board = true;
            run_async(settings, false, terminal)
        }
        None => run_async(settings, false, terminal),
    }
}
