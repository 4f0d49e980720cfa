/** Prepared scenes: rendered ahead, aired at once. */
export {
  SCENE_MAX_CHARS,
  SceneError,
  SceneService,
  SceneStatus,
  type Scene,
  type SceneServiceOptions,
} from './scene-service';
