//! A Parquet file's footer — its schema, row count and row groups — read from the file's last
//! bytes, so the preview shows what a Parquet file holds without a Parquet reader in the app
//! (rows would need the codecs: snappy, zstd, gzip… several times the app's size). The footer is
//! Thrift's compact protocol; only the fields shown are decoded, the rest skipped.

/// Bytes to read from the end first: the footer of most files fits.
pub const TAIL: u64 = 64 << 10;
/// The largest footer read (wide schemas with many row groups).
pub const MAX_FOOTER: u64 = 16 << 20;

/// What a footer says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Footer {
    pub rows: i64,
    pub row_groups: usize,
    pub created_by: Option<String>,
    /// Every schema element but the root, depth first.
    pub columns: Vec<Column>,
}

/// One schema element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// 0 for a top-level column.
    pub depth: usize,
    /// "int64", "string", "timestamp[us, UTC]", "list", "struct"…
    pub kind: String,
    /// "required", "optional" or "repeated".
    pub repetition: &'static str,
}

/// How many bytes the footer of a file ending in `tail` takes with its 8-byte trailer, or why
/// this is not a Parquet file.
pub fn footer_len(tail: &[u8]) -> Result<u64, String> {
    let n = tail.len();
    if n < 8 || &tail[n - 4..] != b"PAR1" {
        return Err("not a Parquet file (no PAR1 at its end)".into());
    }
    let len = u32::from_le_bytes(tail[n - 8..n - 4].try_into().expect("4 bytes"));
    Ok(u64::from(len) + 8)
}

/// The footer at the end of `tail` (which must hold all of it: [`footer_len`]).
pub fn parse(tail: &[u8]) -> Result<Footer, String> {
    let len = footer_len(tail)? as usize;
    if len > tail.len() {
        return Err("the footer was not read whole".into());
    }
    let meta = &tail[tail.len() - len..tail.len() - 8];
    file_metadata(&mut Compact { buf: meta, at: 0 })
        .ok_or_else(|| "a damaged Parquet footer".into())
}

/// Thrift compact protocol, as much as a footer needs.
struct Compact<'a> {
    buf: &'a [u8],
    at: usize,
}

const STRUCT: u8 = 12;
const LIST: u8 = 9;

impl Compact<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(out);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn bytes(&mut self) -> Option<&[u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.at.checked_add(len).filter(|&e| e <= self.buf.len())?;
        let out = &self.buf[self.at..end];
        self.at = end;
        Some(out)
    }

    fn string(&mut self) -> Option<String> {
        self.bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// The next field of a struct: its id and type; `None` at the struct's end.
    fn field(&mut self, last: &mut i16) -> Option<Option<(i16, u8)>> {
        let b = self.byte()?;
        if b == 0 {
            return Some(None);
        }
        let delta = (b >> 4) as i16;
        let id = if delta == 0 {
            self.int()? as i16
        } else {
            *last + delta
        };
        *last = id;
        Some(Some((id, b & 0x0f)))
    }

    /// A list's element type and length.
    fn list(&mut self) -> Option<(u8, usize)> {
        let b = self.byte()?;
        let n = match b >> 4 {
            15 => usize::try_from(self.varint()?).ok()?,
            n => n as usize,
        };
        Some((b & 0x0f, n))
    }

    /// Skip a value of type `ty` (nesting bounded, so a hostile footer cannot recurse deep).
    fn skip(&mut self, ty: u8, depth: u32) -> Option<()> {
        if depth > 32 {
            return None;
        }
        match ty {
            1 | 2 => {}
            3 => self.at = self.at.checked_add(1)?,
            4..=6 => {
                self.varint()?;
            }
            7 => self.at = self.at.checked_add(8)?,
            8 => {
                self.bytes()?;
            }
            LIST | 10 => {
                let (elem, n) = self.list()?;
                for _ in 0..n {
                    // booleans in a list take a byte each
                    if matches!(elem, 1 | 2) {
                        self.byte()?;
                    } else {
                        self.skip(elem, depth + 1)?;
                    }
                }
            }
            11 => {
                let n = self.varint()?;
                if n > 0 {
                    let kv = self.byte()?;
                    for _ in 0..n {
                        self.skip(kv >> 4, depth + 1)?;
                        self.skip(kv & 0x0f, depth + 1)?;
                    }
                }
            }
            STRUCT => {
                let mut last = 0;
                while let Some((_, t)) = self.field(&mut last)? {
                    self.skip(t, depth + 1)?;
                }
            }
            _ => return None,
        }
        (self.at <= self.buf.len()).then_some(())
    }
}

fn file_metadata(c: &mut Compact) -> Option<Footer> {
    let mut footer = Footer {
        rows: 0,
        row_groups: 0,
        created_by: None,
        columns: Vec::new(),
    };
    let mut elements = Vec::new();
    let mut last = 0;
    while let Some((id, ty)) = c.field(&mut last)? {
        match (id, ty) {
            (2, LIST) => {
                let (_, n) = c.list()?;
                for _ in 0..n {
                    elements.push(schema_element(c)?);
                }
            }
            (3, 6) => footer.rows = c.int()?,
            (4, LIST) => {
                let (elem, n) = c.list()?;
                for _ in 0..n {
                    c.skip(elem, 1)?;
                }
                footer.row_groups = n;
            }
            (6, 8) => footer.created_by = Some(c.string()?),
            _ => c.skip(ty, 0)?,
        }
    }
    footer.columns = flatten(&elements)?;
    Some(footer)
}

/// A schema element as read.
struct Element {
    name: String,
    physical: Option<i64>,
    type_length: Option<i64>,
    repetition: i64,
    children: i64,
    converted: Option<i64>,
    logical: Option<String>,
    scale: Option<i64>,
    precision: Option<i64>,
}

fn schema_element(c: &mut Compact) -> Option<Element> {
    let mut e = Element {
        name: String::new(),
        physical: None,
        type_length: None,
        repetition: 0,
        children: 0,
        converted: None,
        logical: None,
        scale: None,
        precision: None,
    };
    let mut last = 0;
    while let Some((id, ty)) = c.field(&mut last)? {
        match (id, ty) {
            (1, 5) => e.physical = Some(c.int()?),
            (2, 5) => e.type_length = Some(c.int()?),
            (3, 5) => e.repetition = c.int()?,
            (4, 8) => e.name = c.string()?,
            (5, 5) => e.children = c.int()?,
            (6, 5) => e.converted = Some(c.int()?),
            (7, 5) => e.scale = Some(c.int()?),
            (8, 5) => e.precision = Some(c.int()?),
            (10, STRUCT) => e.logical = logical_type(c)?,
            _ => c.skip(ty, 1)?,
        }
    }
    Some(e)
}

/// A LogicalType union: the member set, with the details shown.
fn logical_type(c: &mut Compact) -> Option<Option<String>> {
    let mut out = None;
    let mut last = 0;
    while let Some((id, ty)) = c.field(&mut last)? {
        let name = match id {
            1 => "string",
            2 => "map",
            3 => "list",
            4 => "enum",
            6 => "date",
            12 => "json",
            13 => "bson",
            14 => "uuid",
            15 => "float16",
            // decimal, time, timestamp, integer: their fields matter
            5 | 7 | 8 | 10 if ty == STRUCT => {
                out = Some(detailed(c, id)?);
                continue;
            }
            _ => "",
        };
        c.skip(ty, 1)?;
        if !name.is_empty() {
            out = Some(name.to_owned());
        }
    }
    Some(out)
}

/// DECIMAL(5), TIME(7), TIMESTAMP(8) and INTEGER(10) with their parameters.
fn detailed(c: &mut Compact, member: i16) -> Option<String> {
    // the member's integers by field id (decimal: 1 scale, 2 precision; integer: 1 bit width),
    // its one boolean (time, timestamp: adjusted to UTC; integer: signed) and its time unit
    let (mut first, mut second, mut flag, mut unit) = (None, None, false, "");
    let mut last = 0;
    while let Some((id, ty)) = c.field(&mut last)? {
        match (member, id, ty) {
            (5, 1 | 2, 5) | (10, 1, 3) => {
                let v = if ty == 3 {
                    i64::from(c.byte()? as i8)
                } else {
                    c.int()?
                };
                if id == 1 {
                    first = Some(v)
                } else {
                    second = Some(v)
                }
            }
            (10, 2, 1 | 2) | (7 | 8, 1, 1 | 2) => flag = ty == 1,
            (7 | 8, 2, STRUCT) => {
                let mut l = 0;
                while let Some((u, t)) = c.field(&mut l)? {
                    unit = match u {
                        1 => "ms",
                        2 => "us",
                        3 => "ns",
                        _ => unit,
                    };
                    c.skip(t, 2)?;
                }
            }
            _ => c.skip(ty, 2)?,
        }
    }
    Some(match member {
        5 => format!("decimal({}, {})", second.unwrap_or(0), first.unwrap_or(0)),
        10 => format!("{}int{}", if flag { "" } else { "u" }, first.unwrap_or(0)),
        m => format!(
            "{}[{unit}{}]",
            if m == 7 { "time" } else { "timestamp" },
            if flag { ", UTC" } else { "" }
        ),
    })
}

/// The elements as columns with depths (the root, first, is left out).
fn flatten(elements: &[Element]) -> Option<Vec<Column>> {
    let mut out = Vec::new();
    // children still expected at each open level
    let mut open: Vec<i64> = vec![elements.first()?.children];
    for e in &elements[1..] {
        while open.last() == Some(&0) {
            open.pop();
        }
        let left = open.last_mut()?;
        *left -= 1;
        out.push(Column {
            name: e.name.clone(),
            depth: open.len() - 1,
            kind: kind(e),
            repetition: match e.repetition {
                0 => "required",
                2 => "repeated",
                _ => "optional",
            },
        });
        if e.children > 0 {
            open.push(e.children);
        }
    }
    Some(out)
}

fn kind(e: &Element) -> String {
    if let Some(l) = &e.logical {
        return l.clone();
    }
    if e.children > 0 || e.physical.is_none() {
        return match e.converted {
            Some(1) => "map",
            Some(3) => "list",
            _ => "struct",
        }
        .into();
    }
    match (e.converted, e.precision) {
        (Some(0), _) => return "string".into(),
        (Some(5), Some(p)) => return format!("decimal({p}, {})", e.scale.unwrap_or(0)),
        (Some(6), _) => return "date".into(),
        _ => {}
    }
    match e.physical {
        Some(0) => "boolean".into(),
        Some(1) => "int32".into(),
        Some(2) => "int64".into(),
        Some(3) => "int96".into(),
        Some(4) => "float".into(),
        Some(5) => "double".into(),
        Some(6) => "binary".into(),
        Some(7) => format!("fixed[{}]", e.type_length.unwrap_or(0)),
        _ => "?".into(),
    }
}

#[cfg(test)]
mod tests;
