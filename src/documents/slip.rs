//! The kiosk's ticket slip (排队小票) for a 58 mm thermal printer: 32 columns of plain text (a
//! Chinese character takes two), encoded in GB18030 as such printers expect.

use crate::domain::hall::SlipFacts;
use crate::domain::queue_stats::minutes_label;
use crate::domain::text::{truncate, width};
use crate::domain::time::to_china;

/// Columns of a 58 mm thermal printer's line.
pub const SLIP_COLUMNS: usize = 32;

fn centered(text: &str) -> String {
    let text = truncate(text, SLIP_COLUMNS);
    let left = (SLIP_COLUMNS.saturating_sub(width(&text))) / 2;
    format!("{}{text}", " ".repeat(left))
}

/// `label` then `value`, cut to the line.
fn field(label: &str, value: &str) -> String {
    truncate(&format!("{label}{value}"), SLIP_COLUMNS)
}

/// The slip as text: center, the number large (spaced out), category, green channel, people
/// ahead, the estimated wait, the windows, the time, and, given the ticket's status page address
/// (`status_url`), its QR code. No line is wider than [`SLIP_COLUMNS`].
pub fn slip_text(slip: &SlipFacts, status_url: Option<&str>) -> String {
    let ticket = &slip.ticket;
    let rule = "-".repeat(SLIP_COLUMNS);
    let spaced: String = ticket.number.to_string().chars().map(|c| format!("{c} ")).collect();
    let mut lines = vec![
        centered(&slip.center),
        centered("排 队 号"),
        rule.clone(),
        String::new(),
        centered(spaced.trim_end()),
        String::new(),
        rule.clone(),
        field("业务类别：", &format!("{} {}", ticket.category, slip.category_name)),
    ];
    if let crate::domain::ticket::Priority::Green(reason) = ticket.priority {
        lines.push(field("绿色通道：", reason.label()));
    }
    lines.push(field("前面等候：", &format!("{} 人", slip.ahead)));
    let wait = match slip.estimated_wait_s {
        Some(0) => "马上".to_owned(),
        Some(s) => format!("约 {}", minutes_label(s)),
        None => "请留意叫号".to_owned(),
    };
    lines.push(field("预计等候：", &wait));
    let windows: Vec<String> = slip.windows.iter().map(|w| w.to_string()).collect();
    lines.push(field("办理窗口：", &format!("{} 号", windows.join("、"))));
    lines.push(field("取号时间：", &to_china(ticket.issued_at).format("%Y-%m-%d %H:%M").to_string()));
    lines.push(rule.clone());
    if let Some(qr) = status_url.and_then(qr_lines) {
        lines.push(centered("手机扫码查看排队进度"));
        lines.extend(qr);
        lines.push(rule);
    }
    lines.push(centered("请留意叫号屏和语音提示"));
    lines.push(centered("过号请到导办台重新排队"));
    lines.join("\n") + "\n"
}

/// `text` as a QR code in text blocks, two modules a line (▀ ▄ █), one column a module, with a
/// one-module quiet zone when it fits, centered in [`SLIP_COLUMNS`]. `None` when the code is
/// wider than the line (keep `server.public_url` short) or cannot be made.
pub fn qr_lines(text: &str) -> Option<Vec<String>> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = match QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L) {
        Ok(code) => code,
        Err(e) => {
            tracing::warn!(error = %e, "status page QR code not made");
            return None;
        }
    };
    let size = code.width();
    let quiet = usize::from(size + 2 <= SLIP_COLUMNS);
    if size + 2 * quiet > SLIP_COLUMNS {
        tracing::warn!(
            size,
            columns = SLIP_COLUMNS,
            "status page QR code wider than the slip; left out (shorten server.public_url)"
        );
        return None;
    }
    let colors = code.to_colors();
    let side = size + 2 * quiet;
    let dark = |x: usize, y: usize| {
        x >= quiet
            && y >= quiet
            && x < size + quiet
            && y < size + quiet
            && colors[(y - quiet) * size + (x - quiet)] == Color::Dark
    };
    let left = " ".repeat((SLIP_COLUMNS - side) / 2);
    Some(
        (0..side)
            .step_by(2)
            .map(|y| {
                let row: String = (0..side)
                    .map(|x| match (dark(x, y), dark(x, y + 1)) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    })
                    .collect();
                format!("{left}{row}").trim_end().to_owned()
            })
            .collect(),
    )
}

/// The text as GB18030 bytes for the printer. Every character of ours encodes (GB18030 covers
/// all of Unicode).
pub fn gb18030(text: &str) -> Vec<u8> {
    let (bytes, _, _) = encoding_rs::GB18030.encode(text);
    bytes.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::queue::{TicketRequest, issue};
    use crate::domain::ticket::{GreenReason, Priority};

    fn slip(priority: Priority, wait: Option<u32>) -> SlipFacts {
        let at = "2026-11-30T01:30:00Z".parse().unwrap();
        let request = TicketRequest { category: 'D', priority, guide_code: None, note: None, slot: None };
        let ticket = issue(uuid::Uuid::nil(), "D012".parse().unwrap(), &request, "kiosk-1", at);
        SlipFacts {
            center: "青石镇便民服务中心".into(),
            ticket,
            category_name: "农业农村与自然资源".into(),
            ahead: 3,
            estimated_wait_s: wait,
            windows: vec![2, 4],
        }
    }

    #[test]
    fn the_slip_fits_32_columns_and_reads_back_from_gb18030() {
        let text = slip_text(&slip(Priority::Green(GreenReason::Elderly), Some(1_260)), None);
        for line in text.lines() {
            assert!(width(line) <= SLIP_COLUMNS, "{line:?} is {} columns", width(line));
        }
        insta::assert_snapshot!(text);
        let bytes = gb18030(&text);
        assert_ne!(bytes, text.as_bytes(), "encoded, not UTF-8");
        let (back, _, had_errors) = encoding_rs::GB18030.decode(&bytes);
        assert!(!had_errors);
        assert_eq!(back, text);
        // "排" in GB18030 is C5 C5.
        assert!(bytes.windows(2).any(|w| w == [0xC5, 0xC5]));
        assert!(slip_text(&slip(Priority::Normal, None), None).contains("预计等候：请留意叫号"));
    }

    /// Reads the printed blocks back into modules and decodes them.
    fn modules(lines: &[&str]) -> Vec<Vec<bool>> {
        let mut grid = Vec::new();
        let columns = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        for line in lines {
            let cells: Vec<char> = line.chars().chain(std::iter::repeat(' ')).take(columns).collect();
            grid.push(cells.iter().map(|c| matches!(c, '█' | '▀')).collect());
            grid.push(cells.iter().map(|c| matches!(c, '█' | '▄')).collect());
        }
        grid
    }

    #[test]
    fn the_slip_carries_the_status_pages_qr_code_when_the_address_is_configured() {
        let facts = slip(Priority::Normal, Some(600));
        let url = crate::domain::hall::status_url(
            "http://192.168.1.10:8734",
            facts.ticket.day,
            facts.ticket.number,
            "12345678901234567890",
        )
        .unwrap();
        assert_eq!(
            url,
            format!("http://192.168.1.10:8734/q/{}/D012?t=12345678901234567890", facts.ticket.day.format("%Y%m%d"))
        );
        let text = slip_text(&facts, Some(&url));
        assert!(text.contains("手机扫码查看排队进度"));
        for line in text.lines() {
            assert!(width(line) <= SLIP_COLUMNS, "{line:?} is {} columns", width(line));
        }
        let qr: Vec<&str> = text.lines().filter(|l| l.contains(['█', '▀', '▄'])).collect();
        assert!(qr.len() >= 10, "{text}");
        // The blocks are the QR code of the address: the same modules as the code made here.
        let expected = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::L).unwrap();
        let printed = modules(&qr);
        let dark: usize = printed.iter().flatten().filter(|d| **d).count();
        let want = expected.to_colors().iter().filter(|c| **c == qrcode::Color::Dark).count();
        assert_eq!(dark, want);
        // Blocks encode in GB18030 too.
        let bytes = gb18030(&text);
        let (back, _, had_errors) = encoding_rs::GB18030.decode(&bytes);
        assert!(!had_errors);
        assert_eq!(back, text);
        // Without the address, no code.
        assert!(!slip_text(&facts, None).contains('█'));
        assert_eq!(crate::domain::hall::status_url(" ", facts.ticket.day, facts.ticket.number, "1"), None);
    }
}
