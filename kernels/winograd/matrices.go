package winograd

// The transform matrices of F(m×m, 3×3) = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, in
// float64, built by the Cook-Toom/Lavin-Gray construction from α−1 finite
// interpolation points and the point at infinity (α = m+2):
//
//	F(2x2,3x3): 0, 1, −1, ∞
//	F(4x4,3x3): 0, 1, −1, 2, −2, ∞
//	F(6x6,3x3): 0, 1, −1, 2, −2, 1/2, −1/2, ∞
//
// These are the points of Lavin & Gray (wincnn), NNPACK and oneDNN: small
// integers and their reciprocals keep the Vandermonde systems as well
// conditioned as α allows. The weight transform uses the float64 matrices
// (then rounds U to float32 once); the input and output transforms in
// transform.go (and the assembly) hard-code the same coefficients, and the
// tests check them against these matrices and check the identity itself
// against direct correlation.
//
// The matrices are the textbook ones (identical to wincnn's output):
// rows of Aᵀ are the powers p^i of each point (the ∞ column is e_{m-1}), G's
// rows are the Lagrange-basis scalings, and Bᵀ is the inverse of the
// Vandermonde system scaled to cancel G's denominators.

// tileMats are the matrices of one tile size.
type tileMats struct {
	m, alpha int
	at       [][]float64 // m × α
	g        [][]float64 // α × 3
	bt       [][]float64 // α × α
}

// matsFor returns the matrices of F(m×m,3×3) for m = 2, 4 or 6.
func matsFor(m int) *tileMats {
	switch m {
	case 2:
		return &f2
	case 4:
		return &f4
	case 6:
		return &f6
	}
	panic("winograd: no matrices for this tile size")
}

var f2 = tileMats{
	m: 2, alpha: 4,
	at: [][]float64{
		{1, 1, 1, 0},
		{0, 1, -1, -1},
	},
	g: [][]float64{
		{1, 0, 0},
		{0.5, 0.5, 0.5},
		{0.5, -0.5, 0.5},
		{0, 0, 1},
	},
	bt: [][]float64{
		{1, 0, -1, 0},
		{0, 1, 1, 0},
		{0, -1, 1, 0},
		{0, 1, 0, -1},
	},
}

var f4 = tileMats{
	m: 4, alpha: 6,
	at: [][]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 0},
		{0, 1, 1, 4, 4, 0},
		{0, 1, -1, 8, -8, 1},
	},
	g: [][]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	},
	bt: [][]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	},
}

var f6 = tileMats{
	m: 6, alpha: 8,
	at: [][]float64{
		{1, 1, 1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 1.0 / 2, -1.0 / 2, 0},
		{0, 1, 1, 4, 4, 1.0 / 4, 1.0 / 4, 0},
		{0, 1, -1, 8, -8, 1.0 / 8, -1.0 / 8, 0},
		{0, 1, 1, 16, 16, 1.0 / 16, 1.0 / 16, 0},
		{0, 1, -1, 32, -32, 1.0 / 32, -1.0 / 32, 1},
	},
	g: [][]float64{
		{1, 0, 0},
		{-2.0 / 9, -2.0 / 9, -2.0 / 9},
		{-2.0 / 9, 2.0 / 9, -2.0 / 9},
		{1.0 / 90, 1.0 / 45, 2.0 / 45},
		{1.0 / 90, -1.0 / 45, 2.0 / 45},
		{32.0 / 45, 16.0 / 45, 8.0 / 45},
		{32.0 / 45, -16.0 / 45, 8.0 / 45},
		{0, 0, 1},
	},
	bt: [][]float64{
		{1, 0, -21.0 / 4, 0, 21.0 / 4, 0, -1, 0},
		{0, 1, 1, -17.0 / 4, -17.0 / 4, 1, 1, 0},
		{0, -1, 1, 17.0 / 4, -17.0 / 4, -1, 1, 0},
		{0, 1.0 / 2, 1.0 / 4, -5.0 / 2, -5.0 / 4, 2, 1, 0},
		{0, -1.0 / 2, 1.0 / 4, 5.0 / 2, -5.0 / 4, -2, 1, 0},
		{0, 2, 4, -5.0 / 2, -5, 1.0 / 2, 1, 0},
		{0, -2, 4, 5.0 / 2, -5, -1.0 / 2, 1, 0},
		{0, -1, 0, 21.0 / 4, 0, -21.0 / 4, 0, 1},
	},
}

// transformFilter returns U = G g Gᵀ (α×α, row-major) of one 3×3 filter g
// (row-major), in float64. gm is t.g copied into an array (filterMat), so
// that the loops over every filter of a layer run without slice headers.
func (t *tileMats) transformFilter(gm *[8][3]float64, g []float32, u []float64) {
	a := t.alpha
	g = g[:9]
	u = u[:a*a]
	var tmp [8][3]float64 // G g: α × 3
	for i := 0; i < a; i++ {
		for c := 0; c < 3; c++ {
			tmp[i][c] = gm[i][0]*float64(g[c]) + gm[i][1]*float64(g[3+c]) + gm[i][2]*float64(g[6+c])
		}
	}
	for i := 0; i < a; i++ {
		for j := 0; j < a; j++ {
			u[i*a+j] = tmp[i][0]*gm[j][0] + tmp[i][1]*gm[j][1] + tmp[i][2]*gm[j][2]
		}
	}
}

// filterMat is G as a fixed-size array (rows past α zero).
func (t *tileMats) filterMat() *[8][3]float64 {
	var gm [8][3]float64
	for i := range t.alpha {
		copy(gm[i][:], t.g[i])
	}
	return &gm
}
