//! Drawing: the status bar, the four panes, the key hints and the help overlay. Rendering reads
//! the [`App`] and nothing else.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Row, Table, Wrap};

use super::app::{App, Link, Modal, Pane};
use super::form::Form;
use super::handover::HandoverEditor;
use super::panes;
use crate::domain::text::{pad, width};
use crate::domain::time::to_china;

/// Below this the four panes cannot be read; the screen asks for a larger window instead.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(frame, area);
        return;
    }
    let [status, body, message, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1), Constraint::Length(1)])
            .areas(area);
    render_status(app, frame, status);
    if app.on_board() {
        panes::board::render(app, frame, body);
        render_message(app, frame, message);
        render_footer(app, frame, footer);
        render_overlays(app, frame, area);
        return;
    }
    if app.desk {
        render_desk(app, frame, body);
        render_message(app, frame, message);
        render_footer(app, frame, footer);
        render_overlays(app, frame, area);
        return;
    }
    let [top, bottom] = Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(body);
    let [queue, checklist] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(top);
    // Wider screens give the guide list the extra columns: it has the most to show.
    let bottom_split = if area.width >= 120 {
        [Constraint::Fill(3), Constraint::Fill(2)]
    } else {
        [Constraint::Fill(1), Constraint::Fill(1)]
    };
    let [guides, handover] = Layout::horizontal(bottom_split).areas(bottom);
    for (pane, rect) in
        [(Pane::Queue, queue), (Pane::Checklist, checklist), (Pane::Handover, handover), (Pane::Guides, guides)]
    {
        let block = pane_block(pane, app.focus == pane);
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        match pane {
            Pane::Queue => panes::queue::render(app, frame, inner),
            Pane::Checklist => panes::checklist::render(app, frame, inner),
            Pane::Guides => panes::guides::render(app, frame, inner),
            Pane::Handover => panes::handover::render(app, frame, inner),
        }
    }
    render_message(app, frame, message);
    render_footer(app, frame, footer);
    render_overlays(app, frame, area);
}

/// What is open in front of the panes: the same one that takes the keys (see [`Modal`]). A
/// question (y/n) is on the message line, over what was open beneath it.
fn render_overlays(app: &App, frame: &mut Frame, area: Rect) {
    match app.modal.as_ref().and_then(Modal::beneath) {
        Some(Modal::Help { scroll }) => render_help(app, *scroll, frame, area),
        Some(Modal::SituationPicker { selected }) => render_situation_picker(app, *selected, frame, area),
        Some(Modal::HandoverEditor(editor)) => render_handover_editor(editor, frame, area),
        Some(Modal::Form(form)) => render_form(form, frame, area),
        Some(Modal::FoundCases { found, selected }) => render_found_cases(found, *selected, frame, area),
        Some(Modal::Detail { title, lines }) => render_detail(title, lines, frame, area),
        Some(Modal::Confirm { .. } | Modal::Leave { .. }) | None => {}
    }
}

fn pane_block(pane: Pane, focused: bool) -> Block<'static> {
    let title = format!(" F{} {} ", pane.key(), pane.title());
    let block = Block::bordered().title(title);
    if focused {
        block.border_type(BorderType::Thick).border_style(Style::new().fg(Color::Cyan)).title_style(Style::new().bold())
    } else {
        block.border_style(Style::new().fg(Color::DarkGray))
    }
}

fn render_status(app: &App, frame: &mut Frame, area: Rect) {
    let center = app.center.as_ref().map_or("便民服务中心", |c| c.center.name.as_str());
    let window = match (app.window_post(), &app.overview) {
        _ if app.on_board() => "中心看板".to_owned(),
        (Some((n, _)), Some(o)) => format!("{n}号窗口 {}", o.window.kind.label()),
        (Some((n, _)), None) => format!("{n}号窗口"),
        (None, _) => "未分配窗口".to_owned(),
    };
    let clerk = match (&app.me, app.window_post()) {
        (Some(me), Some((_, post))) => format!("{} {}", me.staff.name, post.label()),
        (Some(me), None) => format!("{} {}", me.staff.name, me.staff.role.label()),
        (None, _) => "未登录".to_owned(),
    };
    let (link_text, link_style) = match &app.link {
        Link::Online => ("在线", Style::new().fg(Color::Black).bg(Color::Green)),
        Link::Offline(_) => ("离线", Style::new().fg(Color::White).bg(Color::Red)),
        Link::Connecting(_) => ("连接中", Style::new().fg(Color::Black).bg(Color::Yellow)),
        Link::Syncing => ("同步中", Style::new().fg(Color::Black).bg(Color::Cyan)),
    };
    // The right part (link, pending uploads, clock) always shows; the left part gives way.
    let mut right = Vec::new();
    let empty: Vec<u32> = app.board_pane.snapshot.iter().flat_map(|b| b.empty_posts().map(|w| w.number)).collect();
    if !empty.is_empty() {
        let list: Vec<String> = empty.iter().map(u32::to_string).collect();
        right.push(Span::styled(
            format!(" 空岗 {}号窗口 ", list.join("、")),
            Style::new().fg(Color::White).bg(Color::Red).bold(),
        ));
    }
    if let Some(watch) = &app.watch {
        if watch.standing.as_ref().is_some_and(|s| s.is_alarm()) {
            right.push(Span::styled(
                format!(" 空岗 {}号窗口 ", watch.window),
                Style::new().fg(Color::White).bg(Color::Red).bold(),
            ));
        }
        if !watch.empty_b_posts.is_empty() {
            let list: Vec<String> = watch.empty_b_posts.iter().map(u32::to_string).collect();
            right.push(Span::styled(
                format!(" 空岗 {}号窗口（B岗请顶岗） ", list.join("、")),
                Style::new().fg(Color::White).bg(Color::Red).bold(),
            ));
        }
        let open = watch.open().count();
        if open > 0 {
            right.push(Span::styled(format!(" 差评待整改{open} "), Style::new().fg(Color::Black).bg(Color::Yellow)));
        }
    }
    if app.handover_to_acknowledge().is_some() {
        right.push(Span::styled(" 交接待确认 ", Style::new().fg(Color::Black).bg(Color::Yellow)));
    }
    right.extend([
        Span::styled(format!(" {link_text} "), link_style),
        Span::raw(format!(" 待上传{} ", app.pending_uploads)),
        Span::raw(to_china(app.now).format("%m-%d %H:%M").to_string()).bold(),
    ]);
    let right_width: usize = right.iter().map(|s| s.width()).sum();
    let left_width = usize::from(area.width).saturating_sub(right_width + 1);
    let mut left = format!("{center} | {window} | {clerk}");
    if width(&left) > left_width {
        left = format!("{window} | {clerk}");
    }
    let left = pad(&left, left_width + 1);
    let mut spans = vec![Span::raw(left)];
    spans.extend(right);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(Style::new().bg(Color::Rgb(30, 30, 46))), area);
}

fn render_message(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(question) = app.question() {
        let line =
            Line::from(Span::styled(question.to_owned(), Style::new().fg(Color::Black).bg(Color::Yellow).bold()));
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let text = match (&app.message, &app.link) {
        (Some(m), _) => Line::from(m.as_str()).yellow(),
        (None, Link::Offline(reason)) => {
            Line::from(format!("离线：{reason}。本机数据照常可用，恢复后自动同步。")).red()
        }
        (None, Link::Connecting(step)) => Line::from(step.as_str()).yellow(),
        (None, Link::Online | Link::Syncing) => Line::default(),
    };
    frame.render_widget(Paragraph::new(text), area);
}

/// The guidance desk: the search and its results on the left, the opened guide on the right.
fn render_desk(app: &App, frame: &mut Frame, area: Rect) {
    let [left, right] = Layout::horizontal([Constraint::Fill(2), Constraint::Fill(3)]).areas(area);
    let list_block = Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(Style::new().fg(Color::Cyan))
        .title(" 咨询导办：直接输入问题搜索 ");
    let inner = list_block.inner(left);
    frame.render_widget(list_block, left);
    panes::guides::render_list(app, frame, inner);
    let detail_block = Block::bordered().border_style(Style::new().fg(Color::DarkGray)).title(" 办事指南 ");
    let inner = detail_block.inner(right);
    frame.render_widget(detail_block, right);
    let top = app.guide_pane.search_rows.as_ref().and_then(|rows| rows.first()).and_then(|r| r.guide.as_deref());
    match (&app.guide_pane.detail, top) {
        (Some(guide), _) => panes::guides::render_detail(app, guide, frame, inner),
        (None, Some(guide)) => panes::guides::render_card(app, guide, frame, inner),
        (None, None) => frame.render_widget(
            Paragraph::new(vec![
                Line::from("在左侧选中事项后按 Enter，在此查看完整指南。"),
                Line::from(""),
                Line::from("答复后按功能键记录（首问负责）：F6 已解答，F7 引导至窗口，F8 为此事项取号，F9 转办不成事反映窗口，F5 未找到。预约的人到了按 F10 签到。"),
            ])
            .wrap(Wrap { trim: false })
            .dark_gray(),
            inner,
        ),
    }
}

fn render_footer(app: &App, frame: &mut Frame, area: Rect) {
    let hints: &[(&str, &str)] = if app.on_board() {
        &[
            ("F1", "帮助"),
            ("↑↓", "选择"),
            ("a", "交办"),
            ("x", "现场化解"),
            ("r", "核实整改"),
            ("Enter", "查看"),
            ("Tab", "切换"),
            ("Ctrl+R", "刷新"),
            ("q", "退出"),
            // Where there is room (F1 lists it everywhere).
            ("e", "导出报表"),
        ]
    } else if app.desk {
        &[
            ("F1", "帮助"),
            ("F6", "已解答"),
            ("F7", "引导"),
            ("F8", "取号"),
            ("F9", "办不成事"),
            ("F5", "未找到"),
            ("Ctrl+C", "退出"),
            ("Enter", "查看"),
            ("F10", "签到"),
            ("F11", "预约"),
            ("F12", "取消预约"),
        ]
    } else {
        &[("F1", "帮助"), ("Tab", "切换"), ("F2-F5", "面板"), ("Ctrl+R", "刷新"), ("q", "退出")]
    };
    // What fits, whole, in the order above (most needed first); F1 lists the rest.
    let mut spans = Vec::new();
    let mut used = 0;
    for &(key, what) in hints {
        let w = crate::domain::text::width(key) + crate::domain::text::width(what) + 3;
        if used + w > usize::from(area.width) {
            continue;
        }
        used += w;
        spans.push(Span::styled(format!(" {key} "), Style::new().add_modifier(Modifier::REVERSED)));
        spans.push(Span::raw(format!("{what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_help(app: &App, scroll: u16, frame: &mut Frame, area: Rect) {
    let keys = app.help_rows();
    let height = (keys.len() as u16 + 2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(76.min(area.width))]).flex(Flex::Center).areas(popup);
    clear_wide_chars_cut_by_edges(frame, popup);
    frame.render_widget(Clear, popup);
    // More keys than a 24-line screen has rows: the overlay scrolls.
    let visible = usize::from(height.saturating_sub(2));
    let first = usize::from(scroll).min(keys.len().saturating_sub(visible));
    let rows = keys.iter().skip(first).map(|(k, v)| {
        let row = Row::new([k.as_str(), v.as_str()]);
        // A group heading: the pane the keys below it work in.
        if v.is_empty() { row.bold().cyan() } else { row }
    });
    let more = if keys.len() > visible { " Esc 关闭  上下键翻看 " } else { " Esc 关闭 " };
    let table = Table::new(rows, [Constraint::Length(22), Constraint::Fill(1)])
        .block(Block::bordered().border_type(BorderType::Double).title(" 帮助：按键一览 ").title_bottom(more));
    frame.render_widget(table, popup);
}

fn render_form(form: &Form, frame: &mut Frame, area: Rect) {
    let rows = form.fields.len() as u16;
    let note_rows = form.note.as_deref().map_or(0, |n| n.lines().count() as u16);
    let [popup] = Layout::vertical([Constraint::Length(rows + note_rows + 6)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(60.min(area.width))]).flex(Flex::Center).areas(popup);
    clear_wide_chars_cut_by_edges(frame, popup);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .title(form.title)
        .title_bottom(" Enter 下一项/保存  Tab 切换  Esc 取消 ");
    let inner = block.inner(popup).inner(ratatui::layout::Margin { horizontal: 1, vertical: 1 });
    frame.render_widget(block, popup);
    // Two rows for the error: several problems are reported at once.
    let [note_row, fields_area, error_row] =
        Layout::vertical([Constraint::Length(note_rows), Constraint::Length(rows), Constraint::Length(2)]).areas(inner);
    if let Some(note) = &form.note {
        frame.render_widget(Paragraph::new(note.as_str()).dark_gray(), note_row);
    }
    let rows_areas = Layout::vertical(vec![Constraint::Length(1); form.fields.len()]).split(fields_area);
    for (i, (field, row)) in form.fields.iter().zip(rows_areas.iter()).enumerate() {
        let focused = i == form.focused;
        let [label_area, field_area] = Layout::horizontal([Constraint::Length(8), Constraint::Fill(1)]).areas(*row);
        let label_style = if focused { Style::new().bold().cyan() } else { Style::new().dark_gray() };
        frame.render_widget(Paragraph::new(field.label).style(label_style), label_area);
        frame.render_widget(&field.input, field_area);
        if focused {
            // The real terminal cursor sits at the caret, so an input method's candidate window
            // opens where the clerk is typing.
            let caret = field.input.screen_cursor();
            let x = field_area.x.saturating_add(caret.col as u16).min(field_area.right().saturating_sub(1));
            frame.set_cursor_position((x, field_area.y));
        }
    }
    if let Some(error) = &form.error {
        frame.render_widget(Paragraph::new(error.as_str()).wrap(Wrap { trim: true }).red(), error_row);
    }
}

fn render_handover_editor(editor: &HandoverEditor, frame: &mut Frame, area: Rect) {
    let [popup] = Layout::vertical([Constraint::Percentage(80)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Percentage(80)]).flex(Flex::Center).areas(popup);
    clear_wide_chars_cut_by_edges(frame, popup);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .title(format!(" {} ", editor.kind.label()))
        .title_bottom(" Tab 切换  Ctrl+S 保存  Esc 取消 ");
    let inner = block.inner(popup).inner(ratatui::layout::Margin { horizontal: 1, vertical: 0 });
    frame.render_widget(block, popup);
    let [reason_row, return_row, pending_area, notes_area, error_row] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Fill(2),
        Constraint::Length(1),
    ])
    .areas(inner);
    let label = |text: &'static str, focused: bool| {
        if focused { Span::raw(text).bold().cyan() } else { Span::raw(text).dark_gray() }
    };
    if editor.asks_reason() {
        let reason = crate::tui::handover::REASONS[editor.reason].label();
        let line =
            Line::from(vec![label("离岗原因  ", editor.field == 0), Span::raw(format!("< {reason} >（左右键选择）"))]);
        frame.render_widget(Paragraph::new(line), reason_row);
        let [l, field] = Layout::horizontal([Constraint::Length(10), Constraint::Fill(1)]).areas(return_row);
        frame.render_widget(Paragraph::new(Line::from(label("预计返回  ", editor.field == 1))), l);
        frame.render_widget(&editor.expected_return, field);
        if editor.field == 1 {
            put_cursor(frame, &editor.expected_return, field);
        }
    }
    for (area, title, input, index) in
        [(pending_area, " 待办事项（每行一项） ", &editor.pending, 2), (notes_area, " 交接说明 ", &editor.notes, 3)]
    {
        let focused = editor.field == index;
        let style = if focused { Style::new().fg(Color::Cyan) } else { Style::new().fg(Color::DarkGray) };
        let block = Block::bordered().border_style(style).title(title);
        let field = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(input, field);
        if focused {
            put_cursor(frame, input, field);
        }
    }
    if let Some(error) = &editor.error {
        frame.render_widget(Paragraph::new(error.as_str()).red(), error_row);
    }
}

/// Puts the terminal cursor at an editor's caret (display columns), inside `area`.
fn put_cursor(frame: &mut Frame, input: &ratatui_textarea::TextArea<'_>, area: Rect) {
    let caret = input.screen_cursor();
    let x = area.x.saturating_add(caret.col as u16).min(area.right().saturating_sub(1));
    let y = area.y.saturating_add(caret.row as u16).min(area.bottom().saturating_sub(1));
    frame.set_cursor_position((x, y));
}

/// The cases found for a returning applicant, the applicant masked: which window holds each,
/// its status, its one-time notices.
fn render_detail(title: &str, lines: &[String], frame: &mut Frame, area: Rect) {
    let height = (lines.len() as u16 + 2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(72.min(area.width))]).flex(Flex::Center).areas(popup);
    clear_wide_chars_cut_by_edges(frame, popup);
    frame.render_widget(Clear, popup);
    let text: Vec<Line> = lines.iter().map(|l| Line::from(l.as_str())).collect();
    let block =
        Block::bordered().border_type(BorderType::Double).title(format!(" {title} ")).title_bottom(" Esc 关闭 ");
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block), popup);
}

fn render_found_cases(found: &[crate::api::FoundCase], selected: usize, frame: &mut Frame, area: Rect) {
    let height = (found.len() as u16 + 2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(96.min(area.width))]).flex(Flex::Center).areas(popup);
    clear_wide_chars_cut_by_edges(frame, popup);
    frame.render_widget(Clear, popup);
    let rows = found.iter().map(|f| {
        let who = f.case.applicant.as_ref().map(|a| a.masked_name()).unwrap_or_else(|| "（未录入）".into());
        let id = f.case.applicant.as_ref().map(|a| a.id_number.masked()).unwrap_or_default();
        Row::new([
            format!("{} 号窗口", f.case.window),
            f.case.guide_name.clone(),
            format!("{who} {id}"),
            f.case.status.label().to_owned(),
            f.notices.last().cloned().or_else(|| f.case.case_number.clone()).unwrap_or_default(),
        ])
    });
    let widths = [
        Constraint::Length(9),
        Constraint::Fill(1),
        Constraint::Length(26),
        Constraint::Length(7),
        Constraint::Length(19),
    ];
    let table = Table::new(rows, widths).row_highlight_style(Style::new().reversed()).block(
        Block::bordered()
            .border_type(BorderType::Double)
            .title(" 找到的办件 ")
            .title_bottom(" Enter 接续办理（转到本窗口）  Esc 取消 "),
    );
    let mut state = ratatui::widgets::TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, popup, &mut state);
}

fn render_situation_picker(app: &App, selected: usize, frame: &mut Frame, area: Rect) {
    let Some(guide) = &app.guide_pane.detail else { return };
    let height = (guide.situations.len() as u16 + 2).min(area.height);
    let [popup] = Layout::vertical([Constraint::Length(height)]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(56.min(area.width))]).flex(Flex::Center).areas(popup);
    clear_wide_chars_cut_by_edges(frame, popup);
    frame.render_widget(Clear, popup);
    let rows = guide.situations.iter().map(|s| Row::new([s.name.clone(), format!("{} 项材料", s.material_ids.len())]));
    let table = Table::new(rows, [Constraint::Fill(1), Constraint::Length(10)])
        .row_highlight_style(Style::new().reversed())
        .block(
            Block::bordered()
                .border_type(BorderType::Double)
                .title(" 选择业务情形 ")
                .title_bottom(" Enter 确定  Esc 取消 "),
        );
    let mut state = ratatui::widgets::TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, popup, &mut state);
}

/// A double-width character cut by an overlay's edge breaks the border: on the left its right
/// half lies under the border and terminals drop the border cell; on the right its left half is
/// covered and its orphaned right half is never repainted. Blank such characters first.
fn clear_wide_chars_cut_by_edges(frame: &mut Frame, area: Rect) {
    let buffer = frame.buffer_mut();
    for y in area.top()..area.bottom() {
        if let Some(x) = area.x.checked_sub(1)
            && let Some(cell) = buffer.cell_mut((x, y))
            && width(cell.symbol()) > 1
        {
            cell.set_symbol(" ");
        }
        let last = area.right().saturating_sub(1);
        let cut = buffer.cell((last, y)).is_some_and(|cell| width(cell.symbol()) > 1);
        if cut && let Some(orphan) = buffer.cell_mut((area.right(), y)) {
            orphan.set_symbol(" ");
        }
    }
}

fn render_too_small(frame: &mut Frame, area: Rect) {
    let message = format!("窗口太小，请放大到至少 {MIN_WIDTH}x{MIN_HEIGHT}（当前 {}x{}）", area.width, area.height);
    frame.render_widget(Paragraph::new(message).wrap(Wrap { trim: true }), area);
}
