package recipe

import (
	"math"
	"slices"
)

// Validate checks the values of a recipe built in code; Load and Resolve apply the same
// checks to files. It returns an ErrorList whose entries have no file or line.
func (r *Recipe) Validate() error {
	l := &loader{file: "recipe", origins: map[string]origin{}, bad: map[string]bool{}}
	// Without a file, treat every non-zero field as set so that misplaced schedule fields
	// are still caught.
	for _, p := range allPaths() {
		if v, ok := fieldByPath(r, p); ok && !v.IsZero() {
			l.origins[p] = origin{file: "recipe"}
		}
	}
	l.validate(r)
	if len(l.errs) > 0 {
		return l.errs
	}
	return nil
}

// validate checks value ranges and the consistency of fields, skipping fields that already
// failed to decode.
func (l *loader) validate(r *Recipe) {
	check := func(ok bool, path, format string, args ...any) {
		if !ok && !l.bad[path] {
			l.errorf(path, format, args...)
			l.bad[path] = true
		}
	}
	check(r.Epochs >= 1, "epochs", "must be at least 1, not %d", r.Epochs)
	check(r.BatchSize >= 1, "batch_size", "must be at least 1, not %d", r.BatchSize)

	o := r.Optimizer
	check(o.Kind == "sgd", "optimizer.kind", `must be "sgd", not %q`, o.Kind)
	check(o.LR > 0, "optimizer.lr", "must be positive, not %v", o.LR)
	check(o.Momentum >= 0 && o.Momentum < 1, "optimizer.momentum", "must be in [0, 1), not %v", o.Momentum)
	check(o.WeightDecay >= 0, "optimizer.weight_decay", "must not be negative, not %v", o.WeightDecay)
	if !l.bad["optimizer.momentum"] {
		check(!o.Nesterov || o.Momentum > 0, "optimizer.nesterov", "needs optimizer.momentum > 0")
	}

	s := r.Schedule
	kinds := []string{MultiStep, Cosine, Constant}
	check(slices.Contains(kinds, s.Kind), "schedule.kind", "must be %q, %q or %q, not %q", MultiStep, Cosine, Constant, s.Kind)
	// unused reports a field the schedule kind ignores, which is almost certainly a mistake.
	unused := func(set bool, path, kinds string) {
		check(!set, path, "is only used with kind = %s (kind is %q); remove it or set it to zero", kinds, s.Kind)
	}
	switch {
	case !slices.Contains(kinds, s.Kind):
		// Which fields belong is unknown; the kind error says enough.
	case s.Kind == MultiStep:
		check(l.isSet("schedule.milestones"), "schedule.milestones", `required with kind = "multistep"`)
		check(l.isSet("schedule.gamma"), "schedule.gamma", `required with kind = "multistep"`)
		ok := true
		for i, f := range s.Milestones {
			if !(f > 0 && f < 1) || (i > 0 && f <= s.Milestones[i-1]) {
				ok = false
			}
		}
		check(ok, "schedule.milestones", "must be increasing fractions of the epochs, each in (0, 1), not %v", s.Milestones)
		check(s.Gamma > 0, "schedule.gamma", "must be positive, not %v", s.Gamma)
	default:
		unused(len(s.Milestones) > 0, "schedule.milestones", `"multistep"`)
		unused(s.Gamma != 0, "schedule.gamma", `"multistep"`)
	}
	switch {
	case !slices.Contains(kinds, s.Kind):
	case s.Kind == Cosine:
		if !l.bad["epochs"] {
			// Name where epochs came from when it is not where the warm-up was written.
			from := ""
			if l.where("epochs").String() != l.where("schedule.warmup_epochs").String() {
				from = " (" + l.epochsFrom(r.Epochs) + ")"
			}
			check(s.WarmupEpochs >= 0 && s.WarmupEpochs < r.Epochs, "schedule.warmup_epochs",
				"must be in [0, epochs) = [0, %d), not %d%s", r.Epochs, s.WarmupEpochs, from)
		}
		if !l.bad["optimizer.lr"] {
			check(s.MinLR >= 0 && s.MinLR <= o.LR, "schedule.min_lr", "must be in [0, optimizer.lr] = [0, %v], not %v", o.LR, s.MinLR)
		}
	default:
		unused(s.WarmupEpochs != 0, "schedule.warmup_epochs", `"cosine"`)
		unused(s.MinLR != 0, "schedule.min_lr", `"cosine"`)
	}

	ls := r.Loss
	sum, ok := 0.0, true
	for _, w := range ls.ExitWeights {
		ok = ok && w >= 0
		sum += w
	}
	check(ok && (len(ls.ExitWeights) == 0 || sum > 0), "loss.exit_weights", "must be non-negative and not all zero, not %v", ls.ExitWeights)
	check(ls.LabelSmoothing >= 0 && ls.LabelSmoothing < 1, "loss.label_smoothing", "must be in [0, 1), not %v", ls.LabelSmoothing)

	a := r.Augmentation
	sc, rt := a.ResizedCropScale, a.ResizedCropRatio
	check(len(sc) == 0 || len(sc) == 2 && sc[0] > 0 && sc[0] <= sc[1] && sc[1] <= 1, "augmentation.resized_crop_scale",
		"must be empty or [min, max] with 0 < min <= max <= 1, not %v", sc)
	check(len(rt) == 0 || len(rt) == 2 && rt[0] > 0 && rt[0] <= rt[1] && !math.IsInf(rt[1], 0), "augmentation.resized_crop_ratio",
		"must be empty or [min, max] with 0 < min <= max, not %v", rt)
	check(len(rt) == 0 || len(sc) == 2, "augmentation.resized_crop_ratio", "needs resized_crop_scale")
	check(a.CropPadding >= 0, "augmentation.crop_padding", "must not be negative, not %d", a.CropPadding)
	check(a.MixupAlpha >= 0, "augmentation.mixup_alpha", "must not be negative, not %v", a.MixupAlpha)
	check(a.CutMixAlpha >= 0, "augmentation.cutmix_alpha", "must not be negative, not %v", a.CutMixAlpha)
	check(a.CutMixProb >= 0 && a.CutMixProb <= 1, "augmentation.cutmix_prob", "must be in [0, 1], not %v", a.CutMixProb)

	check(r.Validation.Size >= 0, "validation.size", "must not be negative, not %d", r.Validation.Size)
}
