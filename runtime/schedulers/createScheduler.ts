// The sampler registry: names users pick (shown in the form: samplerDisplayName in
// runtime/protocol/generationTypes.ts; the PNG metadata uses A1111's names,
// runtime/png/a1111Samplers.ts) → scheduler classes built from the model's
// scheduler_config.json, the way diffusers' `SomeScheduler.from_config(config)` builds them.
import { schedulerNames, type SchedulerName } from '../protocol/generationTypes.ts';
import type { Scheduler, SchedulerConfig } from './scheduler.ts';
import { SchedulerConfigError } from './schedulerConfigCheck.ts';
import { DdimScheduler } from './ddimScheduler.ts';
import { DpmSolverMultistepScheduler } from './dpmSolverMultistepScheduler.ts';
import { EulerAncestralScheduler } from './eulerAncestralScheduler.ts';
import { EulerScheduler } from './eulerScheduler.ts';
import { LmsScheduler } from './lmsScheduler.ts';
import { PndmScheduler } from './pndmScheduler.ts';
import { UniPcScheduler } from './uniPcScheduler.ts';

export function createScheduler(name: SchedulerName, config: SchedulerConfig): Scheduler {
  switch (name) {
    case 'ddim':
      return new DdimScheduler(config);
    case 'pndm':
      return new PndmScheduler(config);
    case 'euler':
      return new EulerScheduler(config);
    case 'euler_a':
      return new EulerAncestralScheduler(config);
    case 'lms':
      return new LmsScheduler(config);
    // The name promises DPM++ 2M: pin the algorithm and order whatever a DPM-Solver config says.
    case 'dpmpp_2m':
      return new DpmSolverMultistepScheduler({ ...config, algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: false });
    case 'dpmpp_2m_karras':
      return new DpmSolverMultistepScheduler({ ...config, algorithm_type: 'dpmsolver++', solver_order: 2, use_karras_sigmas: true });
    case 'unipc':
      return new UniPcScheduler(config);
    default:
      throw new Error(`unknown sampler "${String(name)}"; choose one of ${schedulerNames.join(', ')}`);
  }
}

/**
 * Whether the chosen sampler takes the model's scheduler config (PNDM has no "sample" prediction,
 * DPM-Solver no learned variance…), checked by building it once before any work, so that a job
 * refuses at once with the field, the values the sampler takes and the file, rather than after the
 * model is loaded. checkSchedulerConfig has already checked each field on its own.
 */
export function checkSamplerConfig(name: SchedulerName, config: SchedulerConfig, file: string): void {
  try {
    createScheduler(name, config);
  } catch (error) {
    if (error instanceof SchedulerConfigError) throw new SchedulerConfigError(`${file}: ${error.message}`);
    throw error;
  }
}

/** The sampler matching the model's own scheduler (`_class_name`); DDIM when it is none of ours. */
export function defaultSchedulerName(config: SchedulerConfig): SchedulerName {
  switch (config._class_name) {
    case 'PNDMScheduler':
      return 'pndm';
    case 'EulerDiscreteScheduler':
      return 'euler';
    case 'EulerAncestralDiscreteScheduler':
      return 'euler_a';
    case 'LMSDiscreteScheduler':
      return 'lms';
    case 'DPMSolverMultistepScheduler':
    case 'DPMSolverSinglestepScheduler':
      return config.use_karras_sigmas ? 'dpmpp_2m_karras' : 'dpmpp_2m';
    case 'UniPCMultistepScheduler':
      return 'unipc';
    default:
      return 'ddim';
  }
}
