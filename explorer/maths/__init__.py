"""The confidence maths: softmax with T, calibration, conformal sets, and numbers as the page
writes them."""
