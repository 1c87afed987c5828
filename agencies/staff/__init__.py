"""The staff pages (職員画面, /staff/): cases, 情報照会, held requests."""
