package naive

import "math"

// BatchNorm applies inference-form batch normalization to x (N×C×plane):
// y = (x − mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c]. If relu,
// y = max(y, 0) afterwards (the pre-activation BN+ReLU pair).
func BatchNorm[T Float](n, c, plane int, x, gamma, beta, mean, variance []T, eps T, relu bool, y []T) {
	for i := range n {
		for ch := range c {
			scale := gamma[ch] / T(math.Sqrt(float64(variance[ch]+eps)))
			shift := beta[ch] - mean[ch]*scale
			off := (i*c + ch) * plane
			src, dst := x[off:off+plane], y[off:off+plane]
			for j, v := range src {
				r := v*scale + shift
				if relu {
					r = max(r, 0)
				}
				dst[j] = r
			}
		}
	}
}

// ReLU computes y = max(x, 0) element-wise; x and y may alias.
func ReLU[T Float](x, y []T) {
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// Add computes y = Σ xs (then max(·,0) if relu) element-wise over len(y)
// values; y may alias any input.
func Add[T Float](xs [][]T, relu bool, y []T) {
	for i := range y {
		var s T
		for _, x := range xs {
			s += x[i]
		}
		if relu {
			s = max(s, 0)
		}
		y[i] = s
	}
}

// Pool2D describes a max or average pooling window.
type Pool2D struct {
	N, C, H, W int
	K, Stride  int
	Pad        int
	OutH, OutW int
}

// MaxPool takes the maximum over each window; padding never wins (it is
// −∞, as in PyTorch).
func MaxPool[T Float](p Pool2D, x, y []T) {
	for nc := range p.N * p.C {
		src := x[nc*p.H*p.W : (nc+1)*p.H*p.W]
		dst := y[nc*p.OutH*p.OutW : (nc+1)*p.OutH*p.OutW]
		for oh := range p.OutH {
			h0 := oh*p.Stride - p.Pad
			for ow := range p.OutW {
				w0 := ow*p.Stride - p.Pad
				m := T(math.Inf(-1))
				for kh := max(h0, 0); kh < min(h0+p.K, p.H); kh++ {
					for kw := max(w0, 0); kw < min(w0+p.K, p.W); kw++ {
						m = max(m, src[kh*p.W+kw])
					}
				}
				dst[oh*p.OutW+ow] = m
			}
		}
	}
}

// AvgPool averages each window. With countPad the divisor is K·K (padding
// counts as zeros, PyTorch's count_include_pad=True); otherwise it is the
// number of in-image values.
func AvgPool[T Float](p Pool2D, countPad bool, x, y []T) {
	for nc := range p.N * p.C {
		src := x[nc*p.H*p.W : (nc+1)*p.H*p.W]
		dst := y[nc*p.OutH*p.OutW : (nc+1)*p.OutH*p.OutW]
		for oh := range p.OutH {
			h0 := oh*p.Stride - p.Pad
			for ow := range p.OutW {
				w0 := ow*p.Stride - p.Pad
				var s T
				cnt := 0
				for kh := max(h0, 0); kh < min(h0+p.K, p.H); kh++ {
					for kw := max(w0, 0); kw < min(w0+p.K, p.W); kw++ {
						s += src[kh*p.W+kw]
						cnt++
					}
				}
				if countPad {
					cnt = p.K * p.K
				}
				dst[oh*p.OutW+ow] = s / T(cnt)
			}
		}
	}
}

// GlobalAvgPool averages each channel plane: x is N×C×plane, y is N×C.
func GlobalAvgPool[T Float](nc, plane int, x, y []T) {
	for i := range nc {
		var s T
		for _, v := range x[i*plane : (i+1)*plane] {
			s += v
		}
		y[i] = s / T(plane)
	}
}

// FullyConnected computes y[n][o] = bias[o] + Σ_i w[o][i]·x[n][i], then
// max(·,0) if relu.
func FullyConnected[T Float](n, in, out int, x, w, bias []T, relu bool, y []T) {
	for b := range n {
		xs := x[b*in : (b+1)*in]
		for o := range out {
			var s T
			if bias != nil {
				s = bias[o]
			}
			for i, wv := range w[o*in : (o+1)*in] {
				s += wv * xs[i]
			}
			if relu {
				s = max(s, 0)
			}
			y[b*out+o] = s
		}
	}
}

// Sigmoid computes y = 1/(1+e^−x) element-wise.
func Sigmoid[T Float](x, y []T) {
	for i, v := range x {
		y[i] = T(1 / (1 + math.Exp(-float64(v))))
	}
}

// ChannelMul scales each channel plane of x (N×C×plane) by s[n][c] (the SE
// excitation); then adds residual (if non-nil) and applies ReLU (if relu),
// which is the fused SE scale + eltsum form: a channel-wise axpy.
func ChannelMul[T Float](nc, plane int, x, s, residual []T, relu bool, y []T) {
	for i := range nc {
		k := s[i]
		src, dst := x[i*plane:(i+1)*plane], y[i*plane:(i+1)*plane]
		if residual == nil {
			for j, v := range src {
				r := v * k
				if relu {
					r = max(r, 0)
				}
				dst[j] = r
			}
			continue
		}
		res := residual[i*plane : (i+1)*plane]
		for j, v := range src {
			r := v*k + res[j]
			if relu {
				r = max(r, 0)
			}
			dst[j] = r
		}
	}
}

// Concat joins N×Ci×plane tensors along channels into y (N×ΣCi×plane).
func Concat[T Float](n, plane int, xs [][]T, cs []int, y []T) {
	total := 0
	for _, c := range cs {
		total += c
	}
	for b := range n {
		off := b * total * plane
		for i, x := range xs {
			sz := cs[i] * plane
			copy(y[off:off+sz], x[b*sz:(b+1)*sz])
			off += sz
		}
	}
}

// Slice copies channels [start, end) of x (N×C×plane) into y.
func Slice[T Float](n, c, plane, start, end int, x, y []T) {
	sz := (end - start) * plane
	for b := range n {
		copy(y[b*sz:(b+1)*sz], x[(b*c+start)*plane:(b*c+end)*plane])
	}
}
