//! Plain-text tables for the node commands: columns left-aligned to their widest cell,
//! separated by two spaces, trailing spaces trimmed.

/// A table with a header row.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells print empty, extra cells are kept.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row (no trailing newline).
    pub fn render(&self) -> String {
        let rows: Vec<&Vec<String>> = std::iter::once(&self.header)
            .filter(|h| !h.is_empty())
            .chain(&self.rows)
            .collect();
        render_rows(&rows)
    }
}

/// Two columns, no header: `key  value` lines.
pub fn key_values(pairs: &[(&str, String)]) -> String {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![format!("{k}:"), v.clone()])
        .collect();
    render_rows(&rows.iter().collect::<Vec<_>>())
}

fn render_rows(rows: &[&Vec<String>]) -> String {
    let columns = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let mut line = String::new();
        for (i, width) in widths.iter().enumerate() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width - cell.chars().count();
            line.extend(std::iter::repeat_n(' ', pad));
        }
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let mut t = Table::new(&["ID", "AMOUNT"]);
        t.row(vec!["abc".into(), "1".into()]);
        t.row(vec!["a".into(), "12345".into()]);
        assert_eq!(t.render(), "ID   AMOUNT\nabc  1\na    12345");
        assert_eq!(Table::new(&["ONLY"]).render(), "ONLY");
    }

    #[test]
    fn key_value_pairs_line_up() {
        let text = key_values(&[("node id", "02ab".into()), ("height", "7".into())]);
        assert_eq!(text, "node id:  02ab\nheight:   7");
    }
}
