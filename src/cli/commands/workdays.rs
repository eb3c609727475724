//! `bianmin workdays add|between`.

use std::process::ExitCode;

use crate::cli::args::*;

pub fn workdays(command: WorkdaysCommand) -> ExitCode {
    let calendar = match crate::assets::bundled_calendar() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("内置工作日历有误：{e}");
            return ExitCode::FAILURE;
        }
    };
    let provisional_note = "（注：部分日期所在年份尚无国务院节假日安排，仅按周末计算，结果待定）";
    match command {
        WorkdaysCommand::Add { date, days } => {
            let deadline = calendar.add_working_days(date, days);
            println!("{}", deadline.date.format("%Y-%m-%d"));
            if deadline.provisional {
                eprintln!("{provisional_note}");
            }
        }
        WorkdaysCommand::Between { from, to } => {
            let (days, provisional) = calendar.working_days_between(from, to);
            println!("{days}");
            if provisional {
                eprintln!("{provisional_note}");
            }
        }
    }
    ExitCode::SUCCESS
}
