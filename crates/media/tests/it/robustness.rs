//! The scan never panics or fails on hostile file contents.

use media::{Pupil, scan};
use proptest::prelude::*;

fn pupils() -> Vec<Pupil> {
    vec![Pupil {
        id: 1,
        name: "Amelia Jones".into(),
    }]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scan_never_panics_on_arbitrary_media(
        jpg in proptest::collection::vec(any::<u8>(), 0..4096),
        png in proptest::collection::vec(any::<u8>(), 0..4096),
        mp4 in proptest::collection::vec(any::<u8>(), 0..4096),
        cut in 0usize..400,
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.jpg"), &jpg).unwrap();
        std::fs::write(dir.path().join("x.png"), &png).unwrap();
        std::fs::write(dir.path().join("x.mp4"), &mp4).unwrap();
        std::fs::write(dir.path().join("x.xmp"), &jpg).unwrap();
        std::fs::write(dir.path().join("x.html"), String::from_utf8_lossy(&png).as_bytes()).unwrap();
        // A real file cut anywhere.
        let mut real = media::fixtures::jpeg_with_xmp_people(&["Amelia Jones"], &[]);
        real.truncate(cut.min(real.len()));
        std::fs::write(dir.path().join("cut.jpg"), &real).unwrap();
        let reports = scan(dir.path(), &pupils()).unwrap();
        prop_assert_eq!(reports.len(), 4);
    }
}
