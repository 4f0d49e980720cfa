import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'data', 'src/generated', 'coverage', 'web/dist'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read settings in src/config.ts and pass them down.' },
      ],
    },
  },
  {
    files: ['src/config.ts', 'test/**', 'bench/**', 'prisma.config.ts', 'scripts/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  { files: ['web/**'], languageOptions: { globals: { ...globals.browser } } },
);
