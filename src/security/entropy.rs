//! Shannon entropy of content, in bits per byte (0 for empty or uniform data, 8 at most).

/// Bits of entropy per byte of `data`.
#[must_use]
pub fn bits_per_byte(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[usize::from(b)] += 1;
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "entropy is an estimate; 2^52 bytes is far off"
    )]
    let total = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            #[expect(clippy::cast_precision_loss, reason = "counts are at most the length")]
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_data_has_none_and_all_bytes_once_have_eight() {
        assert!(bits_per_byte(b"").abs() < 1e-9);
        assert!(bits_per_byte(b"aaaaaaaa").abs() < 1e-9);
        let all: Vec<u8> = (0..=255).collect();
        assert!((bits_per_byte(&all) - 8.0).abs() < 1e-9);
        assert!((bits_per_byte(b"abab") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn english_text_is_between_three_and_five() {
        let e = bits_per_byte(b"The quick brown fox jumps over the lazy dog, again and again.");
        assert!((3.0..5.0).contains(&e), "{e}");
    }
}
