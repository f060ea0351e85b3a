//! The Damm check digit: one decimal digit that detects every single-digit
//! error and every transposition of adjacent digits, the two mistakes people
//! make when copying a number from a letter into an e-mail.

/// A totally anti-symmetric quasigroup of order 10 (Damm, 2004).
const TABLE: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn interim(digits: impl IntoIterator<Item = u8>) -> u8 {
    digits.into_iter().fold(0, |state, digit| {
        TABLE[usize::from(state)][usize::from(digit)]
    })
}

/// The check digit for `digits` (each 0..=9).
///
/// # Panics
/// If an item is not a decimal digit value; callers pass parsed digits.
pub fn check_digit(digits: impl IntoIterator<Item = u8>) -> u8 {
    interim(digits)
}

/// Whether `digits`, the last of which is the check digit, are consistent.
pub fn is_valid(digits: impl IntoIterator<Item = u8>) -> bool {
    interim(digits) == 0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn matches_the_published_example() {
        // The worked example from Damm's thesis: 572 has check digit 4.
        assert_eq!(check_digit([5, 7, 2]), 4);
        assert!(is_valid([5, 7, 2, 4]));
        assert!(!is_valid([5, 7, 2, 5]));
    }

    proptest! {
        #[test]
        fn any_number_with_its_check_digit_is_valid(digits in prop::collection::vec(0u8..10, 1..16)) {
            let mut full = digits.clone();
            full.push(check_digit(digits));
            prop_assert!(is_valid(full));
        }

        #[test]
        fn every_single_digit_error_is_caught(
            digits in prop::collection::vec(0u8..10, 1..16),
            position in any::<prop::sample::Index>(),
            delta in 1u8..10,
        ) {
            let mut full = digits.clone();
            full.push(check_digit(digits));
            let at = position.index(full.len());
            full[at] = (full[at] + delta) % 10;
            prop_assert!(!is_valid(full));
        }

        #[test]
        fn every_adjacent_transposition_is_caught(
            digits in prop::collection::vec(0u8..10, 2..16),
            position in any::<prop::sample::Index>(),
        ) {
            let mut full = digits.clone();
            full.push(check_digit(digits));
            let at = position.index(full.len() - 1);
            prop_assume!(full[at] != full[at + 1]);
            full.swap(at, at + 1);
            prop_assert!(!is_valid(full));
        }
    }
}
